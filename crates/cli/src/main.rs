//! tessera-cli (placeholder until issue 6).
fn main() {}
