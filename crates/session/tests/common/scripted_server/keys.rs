//! The Ed25519 test key pair the scripted server signs with when `ServerConfig::ed25519` is set,
//! and an unrelated public key (a "wrong key" for verification tests). Not secrets.

pub const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIByW0wKfxLgVRvXggjifwt74Ujl0MmrRfS13qzOd4oU1\n-----END PRIVATE KEY-----\n";
pub const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkwNxibStdwjmL+BxDn235VNugZxVi5OzKutaiOl6yFk=\n-----END PUBLIC KEY-----\n";
pub const ED_PUBLIC_X: &str = "kwNxibStdwjmL-BxDn235VNugZxVi5OzKutaiOl6yFk";
pub const OTHER_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAkbbW1o8trzfdHPshhXUn/xoOsTWQ/1Rc3TD5JGMZd8A=\n-----END PUBLIC KEY-----\n";
