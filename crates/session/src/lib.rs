//! Tessera's session engine. (work in progress)
