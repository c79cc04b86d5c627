import { describeStoreContract } from '../support/store-contract.js';
import { memoryStores } from '../support/memory-stores.js';

describeStoreContract('in-memory stores', memoryStores);
