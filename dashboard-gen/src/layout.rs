//! Placement on Grafana's 24-column grid (pure): rows full width, panels flowing left to right.

use crate::model::GridPos;

/// Number of columns of Grafana's grid.
pub const GRID_COLUMNS: u32 = 24;

/// Width and height of a panel before placement, in grid units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Width in columns (clamped to `1..=24`).
    pub w: u32,
    /// Height (at least 1).
    pub h: u32,
}

/// Places panels of `sizes` left to right starting at grid line `top`, wrapping to a new
/// line when a panel does not fit in what is left of the current one.
///
/// Returns one position per size, in order, and the first free grid line below them.
/// Positions never overlap and always lie within the 24 columns.
pub fn flow(sizes: &[Size], top: u32) -> (Vec<GridPos>, u32) {
    let mut positions = Vec::with_capacity(sizes.len());
    let (mut x, mut line_top, mut line_height) = (0, top, 0);
    for size in sizes {
        let w = size.w.clamp(1, GRID_COLUMNS);
        let h = size.h.max(1);
        if x + w > GRID_COLUMNS {
            line_top += line_height;
            x = 0;
            line_height = 0;
        }
        positions.push(GridPos {
            x,
            y: line_top,
            w,
            h,
        });
        x += w;
        line_height = line_height.max(h);
    }
    (positions, line_top + line_height)
}

/// The position of a row header at grid line `top`: full width, one unit high.
pub fn row(top: u32) -> GridPos {
    GridPos {
        x: 0,
        y: top,
        w: GRID_COLUMNS,
        h: 1,
    }
}

/// True when two positions share at least one grid cell.
pub fn overlaps(a: &GridPos, b: &GridPos) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(sizes: &[(u32, u32)], expected: &[(u32, u32)], expected_bottom: u32) {
        let sizes: Vec<Size> = sizes.iter().map(|&(w, h)| Size { w, h }).collect();
        let (positions, bottom) = flow(&sizes, 1);
        let got: Vec<(u32, u32)> = positions.iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(got, expected);
        assert_eq!(bottom, expected_bottom);
    }

    #[test]
    fn two_halves_share_a_line() {
        check(&[(12, 8), (12, 8)], &[(0, 1), (12, 1)], 9);
    }

    #[test]
    fn a_panel_that_does_not_fit_wraps() {
        check(&[(12, 8), (4, 6), (12, 8)], &[(0, 1), (12, 1), (0, 9)], 17);
    }

    #[test]
    fn nothing_to_place_takes_no_space() {
        check(&[], &[], 1);
    }

    #[test]
    fn overlap_is_symmetric_and_edges_do_not_count() {
        let a = GridPos {
            x: 0,
            y: 0,
            w: 12,
            h: 8,
        };
        let right = GridPos {
            x: 12,
            y: 0,
            w: 12,
            h: 8,
        };
        let inside = GridPos {
            x: 6,
            y: 4,
            w: 2,
            h: 2,
        };
        assert!(!overlaps(&a, &right));
        assert!(overlaps(&a, &inside) && overlaps(&inside, &a));
    }

    proptest! {
        #[test]
        fn flow_never_overlaps_and_stays_on_the_grid(
            sizes in proptest::collection::vec((0u32..40, 0u32..20), 0..60),
            top in 0u32..100,
        ) {
            let sizes: Vec<Size> = sizes.into_iter().map(|(w, h)| Size { w, h }).collect();
            let (positions, bottom) = flow(&sizes, top);
            prop_assert_eq!(positions.len(), sizes.len());
            for (i, a) in positions.iter().enumerate() {
                prop_assert!(a.w >= 1 && a.h >= 1 && a.x + a.w <= GRID_COLUMNS);
                prop_assert!(a.y >= top && a.y + a.h <= bottom);
                for b in &positions[i + 1..] {
                    prop_assert!(!overlaps(a, b), "{:?} overlaps {:?}", a, b);
                }
            }
        }
    }
}
