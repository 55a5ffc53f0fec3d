// The npm aliases used to test both majors side by side; typed with the installed @types/express.
declare module 'express4' {
  import express from 'express';
  export default express;
}
declare module 'express5' {
  import express from 'express';
  export default express;
}
