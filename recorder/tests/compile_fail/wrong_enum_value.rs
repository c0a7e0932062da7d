// A misspelled value of an enumerated label.
use catalog::{Metric, SourceErrorType, SourceId};

fn main() {
    recorder::inc(Metric::SourcesRequestsError, (SourceId("a"), SourceErrorType::Timout));
}
