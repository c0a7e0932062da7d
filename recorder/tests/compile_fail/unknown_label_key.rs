// `sms_sources_requests_error_total` is labelled (source_id, error_type of a source):
// a drop reason is not one of its labels.
use catalog::{DropReason, Metric, SourceId};

fn main() {
    recorder::inc(Metric::SourcesRequestsError, (SourceId("a"), DropReason::WrongKind));
}
