/** berthd's version, reported by /version, /info, the Server header and --version. */
export const BERTHD_VERSION = '0.1.0';
