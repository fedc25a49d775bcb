"""Instance snapshots, periodic project backups, their schedule, rotation and restore."""
