//! Grafana HTTP client.
