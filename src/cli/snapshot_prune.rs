//! `virtsnap snapshot prune`: placeholder filled by the next commit.
