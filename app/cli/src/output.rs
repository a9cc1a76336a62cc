//! How the CLI prints results and errors: `--json` prints one JSON object (numbers as decimal
//! strings), otherwise `key: value` lines. Errors are one line on stderr; bad input exits 2,
//! a failed operation exits 1.

use serde_json::Value;

pub struct Output {
    /// The fixed key of the main result (e.g. `index`).
    pub main: &'static str,
    pub value: Value,
}

impl Output {
    pub fn new(main: &'static str, value: Value) -> Output {
        Output { main, value }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.value);
            return;
        }
        if let Some(v) = self.value.get(self.main) {
            println!("{}: {}", self.main, plain(v));
        }
        if let Value::Object(m) = &self.value {
            for (k, v) in m {
                if k == self.main {
                    continue;
                }
                match v {
                    Value::Array(items) if items.iter().all(|i| i.is_object()) && !items.is_empty() => {
                        println!("{k}:");
                        print!("{}", table(items));
                    }
                    Value::Array(items) => {
                        println!("{k}:");
                        for (i, item) in items.iter().enumerate() {
                            println!("  [{i}] {}", plain(item));
                        }
                    }
                    _ => println!("{k}: {}", plain(v)),
                }
            }
        }
    }
}

/// An aligned text table of objects (columns from the first object's keys).
pub fn table(items: &[Value]) -> String {
    let cols: Vec<String> = items[0].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    let rows: Vec<Vec<String>> =
        items.iter().map(|it| cols.iter().map(|c| it.get(c).map(plain).unwrap_or_default()).collect()).collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(c.len()))
        .collect();
    let mut out = String::new();
    let line = |cells: &[String]| -> String {
        let mut l = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            l.push_str(&format!("{:<w$}  ", c, w = widths[i]));
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&cols));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k}={}", plain(v))).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

#[derive(Debug)]
pub enum CliError {
    /// The input cannot be used (exit code 2).
    Input(String),
    /// The operation ran and failed (exit code 1), with optional context for `--json`.
    Failed { message: String, details: Option<Value> },
}

impl CliError {
    pub fn input(msg: String) -> CliError {
        CliError::Input(msg)
    }
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) => 2,
            CliError::Failed { .. } => 1,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            CliError::Input(m) => m,
            CliError::Failed { message, .. } => message,
        }
    }
    /// Prints the error: one line on stderr; with `--json` also a JSON object on stdout.
    pub fn report(&self, json: bool) {
        eprintln!("error: {}", self.message().replace('\n', " "));
        if json {
            let mut v = match self {
                CliError::Failed { details: Some(d), .. } => d.clone(),
                _ => serde_json::json!({}),
            };
            v["error"] = Value::String(self.message().to_string());
            println!("{v}");
        }
    }
}

/// Maps a risk-engine error to a failed operation.
pub fn fail(e: perp_core::CoreError) -> CliError {
    CliError::Failed { message: e.to_string(), details: None }
}
