// The sealed format's part of the pages (see ../formats.js).

export default {};
