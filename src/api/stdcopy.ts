/**
 * berthd's stdcopy framing is the one in src/common/stdcopy.ts (shared with
 * the CLI); this module keeps the API layer's import path.
 */
export {
  decodeAll, encodeFrames, FrameDecoder, HEADER_SIZE, STDERR, STDIN, STDOUT, SYSTEMERR,
  type Frame, type StdStream,
} from '../common/stdcopy.js';
