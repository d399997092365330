//! The server's log lines on stderr: plain text for people, or one JSON
//! object per line (`--log json`) for log collectors. Client text in a
//! line is capped by whoever puts it there (see `ids::echo`).

use serde_json::{Map, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `serve: message`.
    #[default]
    Text,
    /// `{"ts":...,"level":"info","event":"call_end","msg":"...",...}`.
    Json,
}

/// How loud a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation (calls starting and ending).
    Info,
    /// Something an operator should look at.
    Warn,
}

/// A log line's extra field.
#[derive(Debug, Clone)]
pub enum Field<'a> {
    /// Text.
    Str(&'a str),
    /// A count or an id.
    Num(u64),
    /// A duration in seconds or a ratio.
    Float(f64),
}

/// Where the server's lines go, and how.
#[derive(Debug, Clone, Copy, Default)]
pub struct Log {
    /// Text or JSON.
    pub format: LogFormat,
    /// Leave out per-call lines (warnings still go out).
    pub quiet: bool,
}

impl Log {
    /// A per-call line (left out when quiet).
    pub fn call(&self, event: &str, msg: &str, fields: &[(&str, Field)]) {
        if !self.quiet {
            self.line(Level::Info, event, msg, fields);
        }
    }

    /// A line about the server itself.
    pub fn info(&self, event: &str, msg: &str, fields: &[(&str, Field)]) {
        self.line(Level::Info, event, msg, fields);
    }

    /// A warning.
    pub fn warn(&self, event: &str, msg: &str, fields: &[(&str, Field)]) {
        self.line(Level::Warn, event, msg, fields);
    }

    fn line(&self, level: Level, event: &str, msg: &str, fields: &[(&str, Field)]) {
        let text = self.render(level, event, msg, fields);
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// One line, without the newline.
    pub fn render(&self, level: Level, event: &str, msg: &str, fields: &[(&str, Field)]) -> String {
        match self.format {
            LogFormat::Text => match level {
                Level::Info => format!("serve: {msg}"),
                Level::Warn => format!("serve: warning: {msg}"),
            },
            LogFormat::Json => {
                let mut obj = Map::new();
                let ts = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                obj.insert("ts".into(), Value::from((ts * 1000.0).round() / 1000.0));
                let level = match level {
                    Level::Info => "info",
                    Level::Warn => "warn",
                };
                obj.insert("level".into(), level.into());
                obj.insert("event".into(), event.into());
                obj.insert("msg".into(), msg.into());
                for (k, v) in fields {
                    let v = match v {
                        Field::Str(s) => Value::from(*s),
                        Field::Num(n) => Value::from(*n),
                        Field::Float(f) => Value::from(*f),
                    };
                    obj.insert((*k).into(), v);
                }
                Value::Object(obj).to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_object_with_the_fields() {
        let log = Log {
            format: LogFormat::Json,
            quiet: false,
        };
        let line = log.render(
            Level::Info,
            "call_end",
            "call 3 ended",
            &[
                ("call", Field::Num(3)),
                ("outcome", Field::Str("a \"b\"\n")),
            ],
        );
        assert!(!line.contains('\n'));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "call_end");
        assert_eq!(v["call"], 3);
        assert_eq!(v["outcome"], "a \"b\"\n");
        assert_eq!(v["level"], "info");
        assert!(v["ts"].as_f64().unwrap() > 1e9);
    }

    #[test]
    fn text_lines_are_prefixed() {
        let log = Log::default();
        assert_eq!(
            log.render(Level::Warn, "e", "careful", &[]),
            "serve: warning: careful"
        );
    }
}
