// A counter takes `inc` or `add`, never `set`.
use catalog::Metric;

fn main() {
    recorder::set(Metric::GatewayCasWritesSuccess, (), 1.0);
}
