//! Configuration comes from environment variables, read through [`Env`] so the local runner
//! can give each in-process function exactly the variables template.yaml gives it in AWS.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(String),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// A function's environment.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_map(map: HashMap<String, String>) -> Self {
        Self(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing(name.to_owned()))
    }

    /// A comma-separated list; empty when unset.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn parse_or<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| ConfigError::Invalid {
                name: name.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn vars(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_parse() {
        let mut env = Env::default();
        env.set("Q", " a, b ,,c");
        env.set("N", "x");
        assert_eq!(env.list("Q"), ["a", "b", "c"]);
        assert_eq!(env.parse_or("M", 5u32).unwrap(), 5);
        assert!(matches!(env.parse_or("N", 5u32), Err(ConfigError::Invalid { .. })));
        assert!(matches!(env.require("NOPE"), Err(ConfigError::Missing(_))));
    }
}
