use super::*;

#[test]
fn timing() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let store = EncryptedFileStore::open(dir.path().join("s"), &Password::new("pw".into())).unwrap();
    eprintln!("open missing {:?}", t.elapsed());
    store.set("a", "b").unwrap();
    let t = std::time::Instant::now();
    let store = EncryptedFileStore::open(dir.path().join("s"), &Password::new("pw".into())).unwrap();
    let v = store.get("a").unwrap();
    eprintln!("open+get {:?} {:?}", t.elapsed(), v.as_deref());
}
