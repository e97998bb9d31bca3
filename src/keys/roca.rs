//! The ROCA fingerprint (CVE-2017-15361; Nemec, Sys, Svenda, Klinec, Matyas, "The Return
//! of Coppersmith's Attack", ACM CCS 2017).
//!
//! Infineon's RSALib built each prime as `k * M + (65537^a mod M)`, `M` a primorial, so a
//! modulus `n = p * q` is congruent, modulo every small prime `r` dividing `M`, to a power of
//! 65537: `n mod r` lies in the subgroup that 65537 generates in the integers mod `r`. A
//! vulnerable modulus always passes that test for all 38 primes below; a random RSA modulus
//! passes it with probability about 2^-27.8 (one key in roughly 240 million is refused
//! although sound: the price of the fast published test). Vulnerable moduli can be
//! factored, so their keys are refused.
//!
//! This is the published detector's test (`roca/detect.py` of crocs-muni/roca: the primes 3
//! to 167 and their "prints", bitmasks of the subgroup), with each mask computed here from
//! its definition instead of copied; a unit test compares them with the published values.
//! Pure integer arithmetic on the public modulus, nothing secret involved.

/// The small primes of the published test (3 to 167).
const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// The generator Infineon's library raised to build its primes.
const GENERATOR: u32 = 65537;

/// `n mod prime`, reading the big-endian modulus byte by byte.
fn residue(n: &[u8], prime: u32) -> u32 {
    n.iter()
        .fold(0, |acc, &byte| ((acc << 8) | u32::from(byte)) % prime)
}

/// Whether `value` is a power of 65537 modulo `prime` (walks the subgroup: at most
/// `prime - 1` steps).
fn in_generated_subgroup(value: u32, prime: u32) -> bool {
    let generator = GENERATOR % prime;
    let mut power = 1;
    loop {
        if power == value {
            return true;
        }
        power = power * generator % prime;
        if power == 1 {
            return false;
        }
    }
}

/// True when the big-endian modulus `n` carries the ROCA fingerprint.
pub(crate) fn has_fingerprint(n: &[u8]) -> bool {
    PRIMES
        .iter()
        .all(|&prime| in_generated_subgroup(residue(n, prime), prime))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subgroup as a bitmask (bit `x` set when `x` is a power of 65537), as the
    /// published detector stores it.
    fn mask(prime: u32) -> u128 {
        (0..prime)
            .filter(|&x| in_generated_subgroup(x, prime))
            .fold(0, |mask, x| mask | 1u128 << x)
    }

    #[test]
    fn subgroups_match_the_published_prints() {
        // `self.prints` of crocs-muni/roca `roca/detect.py`, for the primes whose mask fits
        // in 128 bits (3 to 113).
        const PUBLISHED: [u128; 29] = [
            6,
            30,
            126,
            1026,
            5658,
            107286,
            199410,
            8388606,
            536870910,
            2147483646,
            67109890,
            2199023255550,
            8796093022206,
            140737488355326,
            5310023542746834,
            576460752303423486,
            1455791217086302986,
            147573952589676412926,
            20052041432995567486,
            6041388139249378920330,
            207530445072488465666,
            9671406556917033397649406,
            618970019642690137449562110,
            79228162521181866724264247298,
            2535301200456458802993406410750,
            1760368345969468176824550810518,
            50079290986288516948354744811034,
            473022961816146413042658758988474,
            10384593717069655257060992658440190,
        ];
        for (prime, published) in PRIMES.iter().zip(PUBLISHED) {
            assert_eq!(mask(*prime), published, "prime {prime}");
        }
    }

    #[test]
    fn residues_are_read_big_endian() {
        assert_eq!(residue(&[0x01, 0x00], 7), 256 % 7);
        assert!(residue(&[0xff; 300], 167) < 167);
        assert_eq!(residue(&[], 3), 0);
    }

    #[test]
    fn a_power_of_65537_has_the_fingerprint_and_its_neighbour_does_not() {
        // 65537^2 = 4295098369: its residue mod every prime is in the subgroup by definition.
        let square = 4_295_098_369u64.to_be_bytes();
        assert!(has_fingerprint(&square));
        assert!(!has_fingerprint(&4_295_098_371u64.to_be_bytes()));
    }
}
