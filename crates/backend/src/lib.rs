//! Reference backend. (work in progress)
