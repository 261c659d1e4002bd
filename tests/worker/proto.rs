//! `proto/` is usable by any client as it is: plain `protoc` compiles it.

use std::path::Path;
use std::process::Command;

#[test]
fn proto_files_compile_with_plain_protoc() {
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let include = protoc_bin_vendored::include_path().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let mut files: Vec<String> = std::fs::read_dir(root.join("dmumatch/v1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "{files:?}");
    let out = std::env::temp_dir().join(format!("dmumatch-protoc-{}", std::process::id()));
    std::fs::create_dir_all(out.join("py")).unwrap();
    let status = Command::new(protoc)
        .arg(format!("-I{}", root.display()))
        .arg(format!("-I{}", include.display()))
        .arg(format!(
            "--descriptor_set_out={}",
            out.join("set.pb").display()
        ))
        .arg(format!("--python_out={}", out.join("py").display()))
        .args(&files)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(out.join("py/dmumatch/v1/events_pb2.py").exists());
    assert!(std::fs::metadata(out.join("set.pb")).unwrap().len() > 1000);
    std::fs::remove_dir_all(&out).unwrap();
}
