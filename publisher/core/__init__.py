"""The pure core: post files, config, planning, reminders and rendering; no SQL, no HTTP."""
