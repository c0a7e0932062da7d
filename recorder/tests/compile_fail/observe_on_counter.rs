// A counter takes `inc` or `add`, never `observe`.
use catalog::{Metric, SourceId};

fn main() {
    recorder::observe(Metric::SourcesRequestsSuccess, SourceId("a"), 0.5);
}
