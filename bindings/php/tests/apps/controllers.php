<?php

declare(strict_types=1);

require_once __DIR__ . '/UserController.php';

use Spikard\App;

$app = new App();
$app->value('settings', ['region' => 'eu-west']);
$app->controller(UserController::class);
return $app;
