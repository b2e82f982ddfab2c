"""The history of conversations as the app keeps it: a recorder that follows the engine's work
on a session and saves it, and the sessions opened from, exported from and imported into the
store. Above the engine and storage, below the window; no Qt."""
