//! /metrics, /healthz, /readyz. SKELETON, being built (issue #4).
