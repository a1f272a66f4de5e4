//! Reading a callgrind profile: the instructions collected, the inclusive cost of SHA-256's
//! compression function, how often given functions were called, and the totals of any other
//! events (the cache simulation's misses).

use std::collections::HashMap;

/// What one callgrind run measured (in the collected region only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Every event's total inside SHA-256's block compression, callees included.
    pub sha256_totals: HashMap<String, u64>,
    /// Calls received, by (demangled) function name.
    pub calls: HashMap<String, u64>,
    /// Every event's total, by its callgrind name (`Ir`, and with `--cache-sim=yes` also
    /// `D1mr`, `DLmw`, ...).
    pub totals: HashMap<String, u64>,
}

/// Whether `name` is SHA-256's block compression (software, or any CPU-specific variant).
pub fn is_sha256_compression(name: &str) -> bool {
    name.contains("sha2::sha256") && (name.contains("compress") || name.contains("digest_blocks"))
}

impl Profile {
    /// Parses a `callgrind.out` file (its first event must be `Ir`, the default).
    ///
    /// # Errors
    ///
    /// When the text is not a callgrind profile.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut profile = Profile::default();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut positions = 1;
        let mut current = String::new();
        let mut callee = String::new();
        let mut pending_call: Option<u64> = None;
        let mut events: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(count) = pending_call.take() {
                // The line after `calls=` is the call's inclusive cost, one number per event
                // (trailing zeros may be left out).
                let costs = line
                    .split_whitespace()
                    .skip(positions)
                    .map(str::parse::<u64>)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|costs| !costs.is_empty())
                    .ok_or_else(|| format!("a call without a cost: {line:?}"))?;
                *profile.calls.entry(callee.clone()).or_default() += count;
                if is_sha256_compression(&callee) && !is_sha256_compression(&current) {
                    for (event, cost) in events.iter().zip(costs) {
                        *profile.sha256_totals.entry(event.clone()).or_default() += cost;
                    }
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count();
            } else if let Some(rest) = line.strip_prefix("events:") {
                events = rest.split_whitespace().map(str::to_owned).collect();
                if events.first().map(String::as_str) != Some("Ir") {
                    return Err(format!("the first event is not `Ir`: {line:?}"));
                }
            } else if let Some(rest) = line
                .strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
            {
                let counts = rest
                    .split_whitespace()
                    .map(str::parse::<u64>)
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|counts| !counts.is_empty())
                    .ok_or_else(|| format!("a malformed total: {line:?}"))?;
                profile.totals = events.iter().cloned().zip(counts).collect();
            } else if let Some(rest) = line.strip_prefix("fn=") {
                current = resolve(&mut names, rest);
            } else if let Some(rest) = line.strip_prefix("cfn=") {
                callee = resolve(&mut names, rest);
            } else if let Some(rest) = line.strip_prefix("calls=") {
                let count = rest
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("a malformed call line: {line:?}"))?;
                pending_call = Some(count);
            }
        }
        if events.is_empty() {
            return Err("not a callgrind profile (no `events:` line)".into());
        }
        Ok(profile)
    }

    /// Instructions executed (`Ir`).
    pub fn instructions(&self) -> u64 {
        self.total("Ir")
    }

    /// Instructions executed inside SHA-256's block compression, callees included.
    pub fn sha256(&self) -> u64 {
        self.sha256_totals.get("Ir").copied().unwrap_or(0)
    }

    /// The total of `event` (0 when the profile did not record it).
    pub fn total(&self, event: &str) -> u64 {
        self.totals.get(event).copied().unwrap_or(0)
    }

    /// The total of `event` outside SHA-256's block compression.
    pub fn total_net(&self, event: &str) -> u64 {
        self.total(event) - self.sha256_totals.get(event).copied().unwrap_or(0)
    }

    /// How many calls went to functions whose name satisfies `matches`.
    pub fn calls_to(&self, matches: impl Fn(&str) -> bool) -> u64 {
        self.calls
            .iter()
            .filter(|(name, _)| matches(name))
            .map(|(_, count)| count)
            .sum()
    }
}

/// A function name from a `fn=`/`cfn=` specification, with callgrind's name compression:
/// `(id) name` defines `id`, a bare `(id)` refers back to it.
fn resolve(names: &mut HashMap<String, String>, spec: &str) -> String {
    let spec = spec.trim();
    let Some(rest) = spec.strip_prefix('(') else {
        return spec.to_owned();
    };
    let Some((id, name)) = rest.split_once(')') else {
        return spec.to_owned();
    };
    let name = name.trim();
    if name.is_empty() {
        names.get(id).cloned().unwrap_or_default()
    } else {
        names.insert(id.to_owned(), name.to_owned());
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir
summary: 1000

fl=(1) a.rs
fn=(1) ts_bench_measure
5 100
cfn=(2) typed_sessions::codec::Codec::mac
calls=2 10
5 600
cfn=(3) sha2::sha256::compress256
calls=1 3
6 250

fn=(2)
3 50
cfn=(3)
calls=3 3
4 450

fn=(3)
1 700
cfn=(4) sha2::sha256::soft::compress
calls=4 2
1 650
";

    #[test]
    fn totals_sha_and_calls() {
        let profile = Profile::parse(SAMPLE).unwrap();
        assert_eq!(profile.instructions(), 1000);
        // Calls into the compression from outside it: 250 + 450; the inner call is not added.
        assert_eq!(profile.sha256(), 700);
        assert_eq!(profile.calls_to(|n| n.ends_with("Codec::mac")), 2);
        assert_eq!(profile.calls_to(|n| n == "sha2::sha256::compress256"), 4);
    }

    #[test]
    fn totals_of_every_event() {
        let text = SAMPLE
            .replace("events: Ir", "events: Ir D1mr DLmw")
            .replace("summary: 1000", "summary: 1000 40 7")
            .replace("6 250", "6 250 9 2")
            .replace("4 450", "4 450 1");
        let profile = Profile::parse(&text).unwrap();
        assert_eq!(profile.instructions(), 1000);
        assert_eq!((profile.total("D1mr"), profile.total("DLmw")), (40, 7));
        assert_eq!(profile.total("ILmr"), 0);
        // Inside the compression: 9 + 1 first-level misses and 2 last-level ones.
        assert_eq!(profile.total_net("Ir"), 300);
        assert_eq!(
            (profile.total_net("D1mr"), profile.total_net("DLmw")),
            (30, 5)
        );
    }

    #[test]
    fn refuses_other_files() {
        assert!(Profile::parse("hello").is_err());
    }
}
