// The listing_timed format's part of the pages (see ../formats.js).

export default {};
