// A counter takes `inc` or `add`, never `set`.
use catalog::{Metric, SourceId};

fn main() {
    recorder::set(Metric::SourcesRequestsSuccess, SourceId("a"), 1.0);
}
