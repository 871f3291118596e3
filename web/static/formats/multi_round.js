// The multi_round format's part of the pages (see ../formats.js).

export default {};
