// Reads a JSON array of texts on stdin; writes, for each, what Twilio's message-segment-calculator
// (npm `sms-segments-calculator`, Smart Encoding off) says: encoding, septets (GSM-7 only),
// segment count, and the grapheme clusters it packs whole. Called by generate.py.
const { SegmentedMessage } = require('sms-segments-calculator');
const { version } = require('sms-segments-calculator/package.json');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const rows = JSON.parse(input).map((text) => {
    const message = new SegmentedMessage(text, 'auto', false);
    return {
      encoding: message.encodingName,
      characters: message.numberOfCharacters,
      segments: message.segmentsCount,
      graphemes: message.graphemes,
    };
  });
  process.stdout.write(JSON.stringify({ version, rows }));
});
