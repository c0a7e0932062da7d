// `sms_sources_requests_error_total` is labelled (source_id, error_type of a source):
// a storage error type is not one of its labels.
use catalog::{Metric, SourceId, StorageErrorType};

fn main() {
    recorder::inc(Metric::SourcesRequestsError, (SourceId("a"), StorageErrorType::Io));
}
