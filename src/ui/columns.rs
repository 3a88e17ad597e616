//! Fitting table columns to the terminal width: each column has a minimum, a width it would
//! like, and a rank saying which goes first when even the minimums do not fit.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub min: u16,
    pub want: u16,
    /// Higher ranks are dropped first when the minimums do not fit; 0 is never dropped.
    pub drop_rank: u8,
}

/// Widths for each column (None: dropped), separated by `gap` cells.
pub fn fit(cols: &[Column], width: u16, gap: u16) -> Vec<Option<u16>> {
    let mut keep: Vec<bool> = vec![true; cols.len()];
    let needed = |keep: &[bool]| -> u32 {
        let shown: Vec<&Column> = cols
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c)
            .collect();
        let gaps = u32::from(gap) * shown.len().saturating_sub(1) as u32;
        shown.iter().map(|c| u32::from(c.min)).sum::<u32>() + gaps
    };
    while needed(&keep) > u32::from(width) {
        let victim = cols
            .iter()
            .enumerate()
            .filter(|(i, c)| keep[*i] && c.drop_rank > 0)
            .max_by_key(|(i, c)| (c.drop_rank, *i))
            .map(|(i, _)| i);
        match victim {
            Some(i) => keep[i] = false,
            None => break,
        }
    }
    let mut widths: Vec<Option<u16>> = cols
        .iter()
        .zip(&keep)
        .map(|(c, k)| k.then_some(c.min))
        .collect();
    let mut spare = u32::from(width).saturating_sub(needed(&keep));
    // Grow the most important columns towards what they want first.
    let mut order: Vec<usize> = (0..cols.len()).filter(|i| keep[*i]).collect();
    order.sort_by_key(|i| (cols[*i].drop_rank, *i));
    for i in order {
        if spare == 0 {
            break;
        }
        if let Some(w) = widths[i].as_mut() {
            let grow = u32::from(cols[i].want.saturating_sub(*w)).min(spare);
            *w += grow as u16;
            spare -= grow;
        }
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Column; 3] = [
        Column {
            min: 10,
            want: 20,
            drop_rank: 0,
        },
        Column {
            min: 5,
            want: 5,
            drop_rank: 2,
        },
        Column {
            min: 8,
            want: 30,
            drop_rank: 1,
        },
    ];

    #[test]
    fn wide_terminals_get_what_columns_want() {
        assert_eq!(fit(&COLS, 100, 1), vec![Some(20), Some(5), Some(30)]);
    }

    #[test]
    fn narrow_terminals_drop_by_rank() {
        assert_eq!(fit(&COLS, 20, 1), vec![Some(11), None, Some(8)]);
        assert_eq!(fit(&COLS, 12, 1), vec![Some(12), None, None]);
    }

    #[test]
    fn never_drops_rank_zero_even_when_too_narrow() {
        assert_eq!(fit(&COLS, 4, 1), vec![Some(10), None, None]);
    }
}
