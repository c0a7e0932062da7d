//! Labels: the key enum every definition names ([`LabelKey`], [`LabelDef`]) and the
//! typed label values recording takes ([`LabelValue`], [`LabelSet`]).
//!
//! A label is a Rust type deriving [`LabelValue`](macro@crate::LabelValue): a fieldless
//! enum for enumerated values (a misspelled or foreign value does not compile), or a
//! newtype over `&str` for free-form values (bounded by the metric's `max_series`). A
//! metric's label set is `()`, one label type, or a tuple of them in exposition order.

use std::fmt::Debug;
use std::hash::Hash;

/// Most labels a metric may have; label values are gathered in a stack array this long.
pub const MAX_LABELS: usize = 8;

/// The label keys of a catalog. Supertrait of `MetricCatalog`, separate so that alert
/// and SLO definitions depend on labels only.
pub trait CatalogLabels: Copy + 'static {
    /// The label keys metrics of this catalog may carry.
    type Label: LabelKey;
}

/// A label key of a catalog: an enum variant naming a Prometheus label.
pub trait LabelKey: Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static {
    /// The definition of this label.
    fn def(self) -> &'static LabelDef;
}

/// A Prometheus label.
#[derive(Debug)]
pub struct LabelDef {
    /// Prometheus label name, e.g. `source_id`.
    pub name: &'static str,
    /// What the label distinguishes.
    pub help: &'static str,
    /// Which values the label may take.
    pub values: LabelValues,
}

/// The values a label may take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabelValues {
    /// Exactly these values; anything else is misuse.
    OneOf(&'static [&'static str]),
    /// The metric names of every catalog the recorder serves (the recorder's self-metrics).
    CatalogMetric,
    /// Values known only at run time (e.g. a source id); bounded per metric by
    /// `MetricDef::max_series`, past which new series fold into [`OVERFLOW_VALUE`].
    FreeForm,
}

/// Label value that replaces free-form label values once a metric reached its series bound.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// A label type: its Prometheus name, help and allowed values, declared once on the type
/// (derived by [`LabelValue`](macro@crate::LabelValue)).
pub trait LabelType {
    /// Name, help (the type's doc comment) and values.
    const DEF: LabelDef;
}

/// One label's value as recording passes it.
pub trait LabelValue<'a>: LabelType + Copy {
    /// Number of enumerated values; 0 for a free-form label.
    const COUNT: usize;

    /// The value as exposed.
    fn as_str(self) -> &'a str;

    /// Position among the enumerated values (declaration order); 0 when free-form.
    fn position(self) -> usize;
}

/// The label values of one series, in the metric's declared label order: `()`, one
/// [`LabelValue`], or a tuple of them.
pub trait LabelSet<'a>: Copy {
    /// Number of labels.
    const LEN: usize;

    /// True when every label is enumerated: [`LabelSet::dense_index`] then numbers the
    /// series without looking at strings.
    const ENUMERATED: bool;

    /// Writes the values, in declared order, to `out[..LEN]`.
    fn write_values(self, out: &mut [&'a str; MAX_LABELS]);

    /// For an enumerated set: the series' position among all value combinations (mixed
    /// radix over the values' positions, last label fastest).
    fn dense_index(self) -> usize;
}

impl<'a> LabelSet<'a> for () {
    const LEN: usize = 0;
    const ENUMERATED: bool = false;

    #[inline]
    fn write_values(self, _: &mut [&'a str; MAX_LABELS]) {}

    #[inline]
    fn dense_index(self) -> usize {
        0
    }
}

/// Implements [`LabelSet`] for a tuple of label values.
macro_rules! tuple_label_set {
    ($len:literal; $($value:ident $index:tt),+) => {
        impl<'a, $($value: LabelValue<'a>),+> LabelSet<'a> for ($($value,)+) {
            const LEN: usize = $len;
            const ENUMERATED: bool = $($value::COUNT > 0)&&+;

            #[inline]
            fn write_values(self, out: &mut [&'a str; MAX_LABELS]) {
                $(out[$index] = self.$index.as_str();)+
            }

            #[inline]
            fn dense_index(self) -> usize {
                let mut index = 0;
                $(index = index * $value::COUNT + self.$index.position();)+
                index
            }
        }
    };
}

tuple_label_set!(2; A 0, B 1);
tuple_label_set!(3; A 0, B 1, C 2);
tuple_label_set!(4; A 0, B 1, C 2, D 3);
tuple_label_set!(5; A 0, B 1, C 2, D 3, E 4);
tuple_label_set!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_label_set!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_label_set!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
