"""The Qt skin: widgets that listen to the engine and show what the core decides."""
