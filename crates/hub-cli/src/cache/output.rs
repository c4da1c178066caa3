//! The 2.x `hf` output modes (`cli/_output.py::Output`): human tables and messages, agent TSV, JSON,
//! quiet ids. Warnings always go to stderr; hints too, except in quiet mode.

use std::io::{BufRead, IsTerminal, Write};

use hub_cache::env::Env;

use super::table::{Ansi, tabulate_2x, truncate_columns};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human unless an agent is detected; hfhub detects no agents, so always human.
    Auto,
    Human,
    Agent,
    Json,
    Quiet,
}

/// The global output flags of 2.x `hf`.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Same as `--format json`.
    #[arg(long)]
    json: bool,
    /// Same as `--format quiet`: print only ids.
    #[arg(short, long)]
    quiet: bool,
    /// Do not truncate values in human tables.
    #[arg(long)]
    no_truncate: bool,
}

impl OutputArgs {
    /// True when one of `--format`, `--json`, `--quiet` was given.
    pub fn given(&self) -> bool {
        self.format.is_some() || self.json || self.quiet
    }

    /// The first two of `--format`, `--json`, `-q` given together (2.x refuses such a pair).
    pub fn conflict(&self) -> Option<(&'static str, &'static str)> {
        let given: Vec<&'static str> = [
            ("--format", self.format.is_some()),
            ("--json", self.json),
            ("-q", self.quiet),
        ]
        .into_iter()
        .filter_map(|(flag, on)| on.then_some(flag))
        .collect();
        match given.as_slice() {
            [first, second, ..] => Some((first, second)),
            _ => None,
        }
    }
}

/// Where a command's output goes and how it looks.
#[derive(Debug, Clone)]
pub struct Output {
    pub mode: Format,
    no_truncate: bool,
    ansi: Ansi,
    columns: usize,
}

/// A value of a table row (what upstream's item dicts hold).
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    List(Vec<String>),
}

/// A command's failure as `hf` reports it.
#[derive(Debug)]
pub enum Failure {
    /// `CLIError`: `Error: {message}` and a hint, exit 1.
    Cli(String),
    /// `click.BadParameter`: usage, `Error: Invalid value: {message}`, exit 2.
    BadParameter(String),
    /// `click.Abort` (a declined confirmation): `Aborted!`, exit 1.
    Aborted,
}

impl Output {
    /// The output the flags select, `NO_COLOR` and `COLUMNS` taken from `env`.
    pub fn new(args: &OutputArgs, env: &Env) -> Output {
        let mode = if args.json {
            Format::Json
        } else if args.quiet {
            Format::Quiet
        } else {
            match args.format.unwrap_or(Format::Auto) {
                Format::Auto => Format::Human,
                other => other,
            }
        };
        let ansi = Ansi {
            enabled: mode == Format::Human && Ansi::from_env(env).enabled,
        };
        Output {
            mode,
            no_truncate: args.no_truncate,
            ansi,
            columns: terminal_columns(env),
        }
    }

    pub fn ansi(&self) -> Ansi {
        self.ansi
    }

    /// `out.text`: stdout in human and agent modes (agent without escapes).
    pub fn text(&self, message: &str) {
        match self.mode {
            Format::Human => println!("{message}"),
            Format::Agent => println!("{}", strip_ansi(message)),
            _ => {}
        }
    }

    /// `out.warning`: stderr, yellow in human mode.
    pub fn warning(&self, message: &str) {
        eprintln!("{}", self.ansi.yellow(&format!("Warning: {message}")));
    }

    /// `out.hint`: stderr, gray in human mode, nothing in quiet mode.
    pub fn hint(&self, message: &str) {
        if self.mode != Format::Quiet {
            eprintln!("{}", self.ansi.gray(&format!("Hint: {message}")));
        }
    }

    /// `out.error`.
    pub fn error(&self, message: &str) {
        eprintln!("{}", self.ansi.red(&format!("Error: {message}")));
    }

    /// `out.result`: `✓ message` and `  key: value` lines (human), `key=value` (agent), the data as
    /// JSON (json), the first value (quiet).
    pub fn result(&self, message: &str, data: &[(&str, Json)]) {
        match self.mode {
            Format::Human | Format::Auto => {
                let mut parts = vec![self.ansi.green(&format!("✓ {message}"))];
                for (key, value) in data {
                    parts.push(format!("  {key}: {}", value.plain()));
                }
                println!("{}", parts.join("\n"));
            }
            Format::Agent => {
                let parts: Vec<String> = data
                    .iter()
                    .map(|(key, value)| format!("{key}={}", value.plain()))
                    .collect();
                if parts.is_empty() {
                    println!("{message}");
                } else {
                    println!("{}", parts.join(" "));
                }
            }
            Format::Json => {
                let fields: Vec<String> = data
                    .iter()
                    .map(|(key, value)| format!("{}: {}", json_str(key), value.to_json()))
                    .collect();
                println!("{{{}}}", fields.join(", "));
            }
            Format::Quiet => {
                if let Some((_, value)) = data.first() {
                    println!("{}", value.plain());
                }
            }
        }
    }

    /// `out.confirm`: nothing with `--yes`; outside human mode an error; else a `[y/N]` prompt on
    /// stdin (click's), declining aborts.
    pub fn confirm(&self, message: &str, yes: bool) -> Result<(), Failure> {
        if yes {
            return Ok(());
        }
        if !matches!(self.mode, Format::Human | Format::Auto) {
            return Err(Failure::Cli(format!(
                "{message} Use --yes to skip confirmation."
            )));
        }
        let stdin = std::io::stdin();
        loop {
            print!("{message} [y/N]: ");
            let _ = std::io::stdout().flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => return Err(Failure::Aborted),
                Ok(_) => {}
            }
            match line.trim().to_lowercase().as_str() {
                "y" | "yes" => return Ok(()),
                "n" | "no" | "" => return Err(Failure::Aborted),
                _ => eprintln!("Error: invalid input"),
            }
        }
    }

    /// `out.table` for rows of string values; `right` names the right-aligned columns.
    pub fn table(
        &self,
        items: &[Vec<(&'static str, Value)>],
        headers: &[&str],
        id_key: &str,
        right: &[&str],
    ) {
        if items.is_empty() {
            match self.mode {
                Format::Json => println!("[]"),
                Format::Quiet => {}
                _ => println!("No results found."),
            }
            return;
        }
        let get = |item: &[(&'static str, Value)], key: &str| -> Option<Value> {
            item.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
        };
        match self.mode {
            Format::Human | Format::Auto => {
                let screaming: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
                let mut rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|item| {
                        headers
                            .iter()
                            .map(|h| match get(item, h) {
                                None => String::new(),
                                Some(Value::Str(s)) => single_line(&s),
                                Some(Value::List(list)) => list
                                    .iter()
                                    .map(|s| single_line(s))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            })
                            .collect()
                    })
                    .collect();
                let truncated =
                    !self.no_truncate && truncate_columns(&screaming, &mut rows, self.columns);
                let right: Vec<bool> = headers.iter().map(|h| right.contains(h)).collect();
                println!("{}", tabulate_2x(&rows, &screaming, &right));
                if truncated {
                    self.hint("Use `--no-truncate` or `--format json` to display full values.");
                }
            }
            Format::Agent => {
                println!("{}", headers.join("\t"));
                for item in items {
                    let cells: Vec<String> = headers
                        .iter()
                        .map(|h| match get(item, h) {
                            None => "None".to_owned(),
                            Some(Value::Str(s)) => single_line(&s),
                            Some(Value::List(list)) => single_line(&format!(
                                "[{}]",
                                list.iter()
                                    .map(|s| hub_cache::scan::python_str_repr(s))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        })
                        .collect();
                    println!("{}", cells.join("\t"));
                }
            }
            Format::Json => {
                let objects: Vec<String> = items
                    .iter()
                    .map(|item| {
                        let fields: Vec<String> = item
                            .iter()
                            .map(|(k, v)| {
                                let value = match v {
                                    Value::Str(s) => json_str(s),
                                    Value::List(list) => format!(
                                        "[{}]",
                                        list.iter()
                                            .map(|s| json_str(s))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                };
                                format!("{}: {value}", json_str(k))
                            })
                            .collect();
                        format!("{{{}}}", fields.join(", "))
                    })
                    .collect();
                println!("[{}]", objects.join(", "));
            }
            Format::Quiet => {
                for item in items {
                    let id = match get(item, id_key) {
                        Some(Value::Str(s)) => s,
                        _ => String::new(),
                    };
                    println!("{}", escape_control_chars(&id));
                }
            }
        }
    }

    /// Prints a failure as `hf` does and gives the exit code.
    pub fn fail(&self, failure: Failure, command: &str) -> std::process::ExitCode {
        match failure {
            Failure::Cli(message) => {
                // 2.x adds "Hint: set HF_DEBUG=1 ... for full traceback": the message here is
                // already the whole error chain, and there is no traceback to show.
                self.error(&message);
                crate::Exit::Failure.into()
            }
            Failure::BadParameter(message) => {
                eprintln!("Usage: hfhub {command} [OPTIONS]");
                eprintln!("Try 'hfhub {command} --help' for help.");
                eprintln!();
                eprintln!("Error: Invalid value: {message}");
                crate::Exit::Usage.into()
            }
            Failure::Aborted => {
                eprintln!("Aborted!");
                crate::Exit::Failure.into()
            }
        }
    }
}

/// A value of `out.result` data.
#[derive(Debug, Clone)]
pub enum Json {
    Bool(bool),
    Int(u64),
    Str(String),
}

impl Json {
    fn plain(&self) -> String {
        match self {
            Json::Bool(true) => "True".to_owned(),
            Json::Bool(false) => "False".to_owned(),
            Json::Int(n) => n.to_string(),
            Json::Str(s) => s.clone(),
        }
    }

    fn to_json(&self) -> String {
        match self {
            Json::Bool(b) => b.to_string(),
            Json::Int(n) => n.to_string(),
            Json::Str(s) => json_str(s),
        }
    }
}

/// `shutil.get_terminal_size().columns`: `COLUMNS` when a positive integer, else the terminal's
/// width when stdout is one, else 80.
fn terminal_columns(env: &Env) -> usize {
    if let Some(columns) = env
        .get(hub_cache::env::COLUMNS)
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|columns| *columns > 0)
    {
        return columns;
    }
    if std::io::stdout().is_terminal()
        && let Ok((columns, _)) = crossterm::terminal::size()
        && columns > 0
    {
        return columns.into();
    }
    80
}

/// Python's `json.dumps` of a string (`ensure_ascii=True`).
pub fn json_str(text: &str) -> String {
    hub_cache::tree::json_string(text)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            rest = &after[end + 1..];
        } else {
            out.push_str("\u{1b}[");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `_escape_control_chars`: non-printable characters as their `repr` escapes.
pub fn escape_control_chars(text: &str) -> String {
    text.chars()
        .map(|c| {
            let repr = hub_cache::scan::python_str_repr(&c.to_string());
            let inner = &repr[1..repr.len() - 1];
            if c == '\\' || c == '\'' || c == '"' || inner == c.to_string() {
                c.to_string()
            } else {
                inner.to_owned()
            }
        })
        .collect()
}

/// `_single_line`: whitespace runs collapsed to one space, control characters escaped.
fn single_line(text: &str) -> String {
    escape_control_chars(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}
