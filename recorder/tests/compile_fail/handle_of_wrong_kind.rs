// Cached handles get the same checks: a histogram handle of a gauge does not compile.
use catalog::Metric;

fn main() {
    let _ = recorder::histogram(Metric::GatewayQueueDepth, ());
}
