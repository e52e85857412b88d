"""Local AWS organisation emulator."""
