// The japanese format's part of the pages (see ../formats.js).

export default {};
