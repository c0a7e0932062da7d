// `sms_gateway_cas_writes_success_total` has no labels.
use catalog::{Metric, SourceId};

fn main() {
    recorder::inc(Metric::GatewayCasWritesSuccess, SourceId("a"));
}
