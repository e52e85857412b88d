"""Sub-commands of the ekstrio CLI; each returns an exit code, none exits."""
