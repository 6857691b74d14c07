#!/usr/bin/env node
/** Entry of `npm run bench`: TypeScript sources run through bench/support/register.js (swc, no build step). */
'use strict';
require('./support/register');
require('./main.ts');
