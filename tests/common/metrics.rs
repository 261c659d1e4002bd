//! Reading the worker's Prometheus text in tests; shared by the test
//! binaries through `#[path]`.

/// Sums the samples of `name` whose label set contains every part of `labels`.
pub fn metric_value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let base = series.split('{').next()?;
            (base == name && labels.iter().all(|p| series.contains(p)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}
