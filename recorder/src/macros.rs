//! Recording macros that check the label set against the catalog at compile time.
//!
//! `recorder::inc!(Metric::SourcesRequestsError, Label::SourceId => id, Label::SourceErrorType => kind)`
//! expands to an inline `const` assertion over `Metric::def` (a `const fn`) followed by
//! the matching function call, so a label the catalog does not declare for that metric,
//! a missing one or a repeated one is a compile error.
//!
//! ```compile_fail
//! use catalog::{Label, Metric};
//! // `sms_gateway_cas_writes_success_total` has no labels.
//! recorder::inc!(Metric::GatewayCasWritesSuccess, Label::SourceId => "a");
//! ```
//!
//! ```compile_fail
//! use catalog::{Label, Metric};
//! // `error_type` is missing.
//! recorder::inc!(Metric::SourcesRequestsError, Label::SourceId => "a");
//! ```
//!
//! ```
//! use catalog::{Label, Metric};
//! recorder::inc!(Metric::SourcesRequestsError, Label::SourceErrorType => "timeout", Label::SourceId => "a");
//! ```

/// Asserts at compile time that `labels` are exactly the catalog labels of `metric`.
#[doc(hidden)]
#[macro_export]
macro_rules! __assert_labels {
    ($metric:expr) => {
        const {
            assert!(
                $metric.def().labels.is_empty(),
                "this metric has labels in the catalog: pass each as `Label::X => value`"
            )
        }
    };
    ($metric:expr, $($label:expr),+) => {
        const {
            let expected = $metric.def().labels;
            let given = [$($label),+];
            assert!(
                expected.len() == given.len(),
                "the label set differs from the catalog's for this metric"
            );
            let mut i = 0;
            while i < given.len() {
                let mut found = false;
                let mut j = 0;
                while j < expected.len() {
                    if expected[j] as usize == given[i] as usize {
                        found = true;
                    }
                    j += 1;
                }
                assert!(found, "a label is not declared for this metric in the catalog");
                let mut k = i + 1;
                while k < given.len() {
                    assert!(given[k] as usize != given[i] as usize, "a label is given twice");
                    k += 1;
                }
                i += 1;
            }
        }
    };
}

/// [`inc`](crate::inc) with the label set checked at compile time.
#[macro_export]
macro_rules! inc {
    ($metric:expr $(, $label:expr => $value:expr)* $(,)?) => {{
        $crate::__assert_labels!($metric $(, $label)*);
        $crate::inc($metric, &[$(($label, $value)),*])
    }};
}

/// [`add`](crate::add) with the label set checked at compile time.
#[macro_export]
macro_rules! add {
    ($metric:expr, $amount:expr $(, $label:expr => $value:expr)* $(,)?) => {{
        $crate::__assert_labels!($metric $(, $label)*);
        $crate::add($metric, &[$(($label, $value)),*], $amount)
    }};
}

/// [`set`](crate::set) with the label set checked at compile time.
#[macro_export]
macro_rules! set {
    ($metric:expr, $amount:expr $(, $label:expr => $value:expr)* $(,)?) => {{
        $crate::__assert_labels!($metric $(, $label)*);
        $crate::set($metric, &[$(($label, $value)),*], $amount)
    }};
}

/// [`observe`](crate::observe) with the label set checked at compile time.
#[macro_export]
macro_rules! observe {
    ($metric:expr, $amount:expr $(, $label:expr => $value:expr)* $(,)?) => {{
        $crate::__assert_labels!($metric $(, $label)*);
        $crate::observe($metric, &[$(($label, $value)),*], $amount)
    }};
}
