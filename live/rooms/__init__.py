"""Rooms: the room record and line-up (store), and the pure rules of a room."""
