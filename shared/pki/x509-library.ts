// The one place @peculiar/x509 is imported. It needs the reflect-metadata polyfill loaded
// before it (its dependency tsyringe throws otherwise), and it signs through WebCrypto; pinning
// Node's implementation here means no other module has to remember either.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
