"""The workspace: the open conversations and what every view shows of them (Qt-free).

A floor between the history and the window: ``Chat`` holds one conversation's intents and its
``Outlook`` (what Send would send now, its price, the warm indicator, the live entries), and
says after each intent and each event that moves it one typed ``Change``; ``Workspace`` holds
the open chats, the one on screen, their recorders, and ends everything at quit.
"""
