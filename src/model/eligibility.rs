//! The memory-capture rule: can this VM's memory state be saved, and if not, why and what to do.
