// The dutch format's part of the pages (see ../formats.js).

export default {};
