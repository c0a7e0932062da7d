// `sms_gateway_queue_depth` has no labels.
use catalog::{Metric, SourceId};

fn main() {
    recorder::set(Metric::GatewayQueueDepth, SourceId("a"), 1.0);
}
