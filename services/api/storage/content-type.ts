// Content-Type of an object PUT without one: guessed from the name's extension, as Swift does with
// Python's `mimetypes` table, else application/octet-stream. A table of the common types is kept
// here rather than a dependency: the guess only has to match what Swift would say for them.
const BY_EXTENSION: Record<string, string> = {
  '.html': 'text/html', '.htm': 'text/html', '.txt': 'text/plain', '.text': 'text/plain', '.log': 'text/plain',
  '.css': 'text/css', '.csv': 'text/csv', '.md': 'text/markdown', '.xml': 'text/xml', '.ics': 'text/calendar',
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.py': 'text/x-python', '.c': 'text/plain', '.h': 'text/plain',
  '.sh': 'application/x-sh', '.json': 'application/json', '.pdf': 'application/pdf', '.zip': 'application/zip',
  '.gz': 'application/gzip', '.tgz': 'application/x-tar', '.tar': 'application/x-tar', '.bz2': 'application/x-bzip2',
  '.xz': 'application/x-xz', '.7z': 'application/x-7z-compressed', '.jar': 'application/java-archive',
  '.wasm': 'application/wasm', '.doc': 'application/msword', '.xls': 'application/vnd.ms-excel',
  '.ppt': 'application/vnd.ms-powerpoint',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text', '.rtf': 'application/rtf', '.ps': 'application/postscript',
  '.bin': 'application/octet-stream', '.exe': 'application/octet-stream', '.so': 'application/octet-stream',
  '.iso': 'application/octet-stream', '.deb': 'application/vnd.debian.binary-package', '.rpm': 'application/x-rpm',
  '.yaml': 'application/yaml', '.yml': 'application/yaml', '.toml': 'application/toml', '.rss': 'application/rss+xml',
  '.atom': 'application/atom+xml', '.xhtml': 'application/xhtml+xml', '.swf': 'application/x-shockwave-flash',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.jpe': 'image/jpeg', '.gif': 'image/gif',
  '.bmp': 'image/bmp', '.ico': 'image/vnd.microsoft.icon', '.svg': 'image/svg+xml', '.tif': 'image/tiff',
  '.tiff': 'image/tiff', '.webp': 'image/webp', '.avif': 'image/avif', '.heic': 'image/heic',
  '.mp3': 'audio/mpeg', '.wav': 'audio/x-wav', '.ogg': 'audio/ogg', '.oga': 'audio/ogg', '.flac': 'audio/flac',
  '.aac': 'audio/aac', '.m4a': 'audio/mp4', '.opus': 'audio/opus', '.mid': 'audio/midi', '.midi': 'audio/midi',
  '.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mpeg': 'video/mpeg', '.mpg': 'video/mpeg', '.mov': 'video/quicktime',
  '.webm': 'video/webm', '.avi': 'video/x-msvideo', '.mkv': 'video/x-matroska', '.ogv': 'video/ogg',
  '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.otf': 'font/otf', '.eml': 'message/rfc822',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The type Swift would give an object named `name` that was PUT without a Content-Type. */
export function guessContentType(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0 && !(dot === 0 && base.length > 1)) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION[base.slice(dot).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
