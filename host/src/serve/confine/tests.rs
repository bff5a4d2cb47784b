//! Unit tests of the confinement pass on job files and directories made here.

use std::path::{Path, PathBuf};

use super::{confine, inside, Rules};
use crate::job::JobDocument;

fn rules<'a>(
    root: &'a Path,
    hosts: &'a [String],
    lookup: &'a dyn Fn(&str) -> Option<PathBuf>,
) -> Rules<'a> {
    Rules {
        root,
        allowed_hosts: hosts,
        plugin_file: lookup,
    }
}

fn check(root: &Path, text: &str) -> Result<super::Confined, String> {
    let mut doc =
        JobDocument::parse(&root.join("job.toml"), text.to_owned()).map_err(|e| e.to_string())?;
    let hosts = vec!["127.0.0.1:9999".to_owned()];
    let lookup = |n: &str| (n == "words").then(|| PathBuf::from("/stored/words.wasm"));
    confine(&mut doc, &rules(root, &hosts, &lookup)).map_err(|e| e.to_string())
}

const HEAD: &str = "[job]\nname = \"j\"\n[sources.g]\nkind = \"generator\"\n";

#[test]
fn relative_paths_inside_are_accepted_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let ok = check(
        &root,
        &format!("{HEAD}[sinks.out]\nfrom = \"g\"\nkind = \"files\"\npath = \"out/../out2\"\n"),
    )
    .unwrap();
    assert_eq!(ok.files_sinks["out"], root.join("out2"));
    assert_eq!(inside(&root, Path::new(".")).unwrap(), root);
}

#[test]
fn escapes_are_refused_naming_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let e = check(
        &root,
        &format!("{HEAD}[sinks.out]\nfrom = \"g\"\nkind = \"files\"\npath = \"../other\"\n"),
    )
    .unwrap_err();
    assert!(
        e.contains("job.toml:8:8: sink `out`: `../other` leads out"),
        "{e}"
    );
    let e = check(
        &root,
        &format!("{HEAD}[sinks.out]\nfrom = \"g\"\nkind = \"files\"\npath = \"/etc\"\n"),
    )
    .unwrap_err();
    assert!(e.contains("`/etc` is an absolute path"), "{e}");
    let e = check(
        &root,
        &format!("{HEAD}[sinks.out]\nfrom = \"g\"\nkind = \"print\"\n"),
    )
    .unwrap_err();
    assert!(e.contains("sink `out`: `print` and `stdout`"), "{e}");
    let e = check(
        &root,
        "[job]\nname = \"j\"\n[sources.s]\nkind = \"stdin\"\n",
    )
    .unwrap_err();
    assert!(e.contains("source `s`: `stdin`"), "{e}");
    let e = check(
        &root,
        "[job]\nname = \"j\"\ndead_letter = { path = \"../dl\" }\nerror_policy = \"dead_letter\"\n[sources.g]\nkind = \"generator\"\n",
    )
    .unwrap_err();
    assert!(
        e.contains(":3:1: [job] dead_letter.path: `../dl` leads out"),
        "{e}"
    );
    let e = check(&root, &format!("{HEAD}[checkpoint]\ndir = \"/tmp/x\"\n")).unwrap_err();
    assert!(
        e.contains(":6:1: [checkpoint] dir: `/tmp/x` is an absolute path"),
        "{e}"
    );
}

#[test]
fn a_symlink_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("in")).unwrap();
    std::os::unix::fs::symlink(root.join("out2"), root.join("inner")).unwrap();
    std::fs::create_dir(root.join("out2")).unwrap();
    let e = check(
        &root,
        "[job]\nname = \"j\"\n[sources.f]\nkind = \"files\"\npath = \"in/sub\"\n",
    )
    .unwrap_err();
    assert!(
        e.contains("`in/sub` goes through a symlink that leads out"),
        "{e}"
    );
    assert!(inside(&root, Path::new("inner/x")).is_ok());
}

#[test]
fn hosts_and_plugins_follow_the_tenant_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let tcp = |port: u16| {
        format!("[job]\nname = \"j\"\n[sources.t]\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = {port}\n")
    };
    assert!(check(&root, &tcp(9999)).is_ok());
    let e = check(&root, &tcp(22)).unwrap_err();
    assert!(
        e.contains(
            "source `t`: `127.0.0.1:22` is not in this tenant's allowed_hosts (127.0.0.1:9999)"
        ),
        "{e}"
    );
    let kafka = format!("{HEAD}[sinks.k]\nfrom = \"g\"\nkind = \"kafka\"\nbootstrap_servers = \"127.0.0.1:9999\"\ntopic = \"t\"\nproperties = {{ \"plugin.library.paths\" = \"/tmp/x.so\" }}\n");
    let e = check(&root, &kafka).unwrap_err();
    assert!(
        e.contains("property `plugin.library.paths` is not one a tenant may set"),
        "{e}"
    );
    let e = check(&root, &format!("{HEAD}[plugins.w]\npath = \"w.wasm\"\n")).unwrap_err();
    assert!(
        e.contains(":6:8: plugin `w`: `path` names a file on the server"),
        "{e}"
    );
    let e = check(&root, &format!("{HEAD}[plugins.w]\nname = \"nope\"\n")).unwrap_err();
    assert!(e.contains("no plugin `nope` was uploaded"), "{e}");
    let mut doc = JobDocument::parse(
        &root.join("job.toml"),
        format!("{HEAD}[plugins.w]\nname = \"words\"\n"),
    )
    .unwrap();
    let hosts = Vec::new();
    let lookup = |n: &str| (n == "words").then(|| PathBuf::from("/stored/words.wasm"));
    confine(&mut doc, &rules(&root, &hosts, &lookup)).unwrap();
    let w = doc.file.plugins["w"].get_ref();
    assert_eq!(w.path.as_deref(), Some(Path::new("/stored/words.wasm")));
}
