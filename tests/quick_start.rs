//! The README's quick start and CI say the same thing: the set-up command a
//! newcomer copies is the one `.ci/run` installs `just` with, and the test
//! command is the one CI runs, so a green CI proves the quick start on a
//! fresh machine. The two `just` recipes it names exist in the justfile.

mod common;
use common::root;

/// The commands of the README's `## Quick start` section: one entry per
/// fenced `bash` block, its non-comment lines joined. The first two are the
/// set-up with the main job, and the tests; more may follow.
fn quick_start_commands(readme: &str) -> Vec<String> {
    let start = readme
        .find("\n## Quick start")
        .expect("README.md has a `## Quick start` section");
    let section = &readme[start + 1..];
    let section = match section[3..].find("\n## ") {
        Some(end) => &section[..end + 3],
        None => section,
    };
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in section.lines() {
        let t = line.trim();
        match (&mut current, t) {
            (None, "```bash") => current = Some(Vec::new()),
            (Some(b), "```") => {
                blocks.push(b.join("\n"));
                current = None;
            }
            (Some(b), _) if !t.is_empty() && !t.starts_with('#') => b.push(t),
            _ => {}
        }
    }
    blocks
}

/// The lines `.ci/run` executes (comments and blank lines left out).
fn ci_lines() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The recipe names of the justfile.
fn recipes() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("justfile")).expect("justfile");
    text.lines()
        .filter(|l| {
            !l.starts_with([' ', '\t', '#']) && !l.starts_with("export") && !l.starts_with("set ")
        })
        .filter_map(|l| l.split_once(':').map(|(head, _)| head))
        .filter_map(|head| head.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_quick_start_is_what_ci_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let commands = quick_start_commands(&readme);
    assert!(
        commands.len() >= 2,
        "the quick start opens with two commands (set-up and main job; tests): {commands:?}"
    );
    let (setup, main_job) = commands[0]
        .rsplit_once(" && ")
        .unwrap_or_else(|| panic!("`{}` is `SET-UP && MAIN JOB`", commands[0]));
    assert_eq!(main_job, "just sweep", "the main job");
    let ci = ci_lines();
    assert!(
        ci.iter().any(|l| l == setup),
        "`.ci/run` must run the README's set-up command `{setup}` as it is written; it runs:\n{}",
        ci.join("\n")
    );
    assert!(
        ci.iter().any(|l| *l == commands[1]),
        "`.ci/run` must run the README's test command `{}`; it runs:\n{}",
        commands[1],
        ci.join("\n")
    );
    let recipes = recipes();
    for cmd in [main_job, commands[1].as_str()] {
        let recipe = cmd.trim_start_matches("just ");
        assert!(
            recipes.iter().any(|r| r == recipe),
            "`{cmd}`: the justfile has no recipe `{recipe}` (it has {recipes:?})"
        );
    }
}

#[test]
fn the_set_up_needs_nothing_but_rust() {
    // PEP 668: a stock Debian/Ubuntu/Fedora Python refuses `pip install`
    // outside a virtual environment, so the set-up must not use it.
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let setup = &quick_start_commands(&readme)[0];
    for refused in ["pip install", "python3 -m pip", "sudo "] {
        assert!(
            !setup.contains(refused),
            "the set-up `{setup}` uses `{refused}`"
        );
    }
    assert!(setup.starts_with("cargo "), "the set-up `{setup}`");
}

#[test]
fn commands_are_read_from_bash_blocks_only() {
    let text = "# T\n\n## Quick start\n\nSay.\n\n```bash\n# a comment\na && b\n```\n\n```toml\nx = 1\n```\n\n```bash\nc\n```\n\n## Next\n\n```bash\nd\n```\n";
    assert_eq!(quick_start_commands(text), ["a && b", "c"]);
}
